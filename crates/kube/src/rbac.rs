pub fn rules(){}
