// Type tests: is_<type> (true or false) and type_name.
import { typeName, type TypeName } from '../value.js';
import { define } from './support.js';

const typeTest = (type: TypeName) => define(`is_${type}`, ['any'], ([value]) => typeName(value!) === type);

export const typeBuiltins = [
  typeTest('array'),
  typeTest('boolean'),
  typeTest('null'),
  typeTest('number'),
  typeTest('object'),
  typeTest('set'),
  typeTest('string'),
  define('type_name', ['any'], ([value]) => typeName(value!)),
];
